"""Arranging a document's signers: positions, routing orders, blocks, required flags."""

from __future__ import annotations

import pytest

from esign.model import SignerRole, SignerSide, SignerSpec, SigningOrder
from esign.model.signers import arrange, copy_recipients, signing_signers

ANA = SignerSpec(position=0, role=SignerRole.SIGNER, name="Ana")
BRUNO = SignerSpec(position=0, role=SignerRole.SIGNER, name="Bruno")
W1 = SignerSpec(position=0, role=SignerRole.WITNESS, name="Carla", tax_id="52998224725")
W2 = SignerSpec(position=0, role=SignerRole.WITNESS, name="Davi", tax_id="11144477735")
COPY = SignerSpec(position=0, role=SignerRole.COPY, name="Contador")
COSIGNER = SignerSpec(position=0, role=SignerRole.SIGNER, name="Sócia", side=SignerSide.COMPANY)


def test_sequential_gives_each_signing_person_the_next_order_and_copies_come_last() -> None:
    arranged = arrange([W1, ANA, COPY, BRUNO, W2], SigningOrder.SEQUENTIAL)
    assert [(s.name, s.position, s.order, s.slot) for s in arranged] == [
        ("Ana", 1, 1, "client"), ("Bruno", 2, 2, "client_2"), ("Carla", 3, 3, "witness_1"),
        ("Davi", 4, 4, "witness_2"), ("Contador", 5, 5, "")]
    assert [s.name for s in signing_signers(arranged)] == ["Ana", "Bruno", "Carla", "Davi"]
    assert [s.name for s in copy_recipients(arranged)] == ["Contador"]
    assert not arranged[-1].required


def test_parallel_invites_everybody_together() -> None:
    arranged = arrange([ANA, BRUNO, W1], "parallel")
    assert {s.order for s in arranged} == {1}


def test_company_cosigner_before_or_after_the_client_side() -> None:
    before = arrange([ANA, COSIGNER], "sequential", company="before")
    assert [(s.name, s.position, s.order, s.slot) for s in before] == [("Ana", 1, 2, "client"),
                                                                         ("Sócia", 2, 1, "company_2")]
    after = arrange([ANA, COSIGNER], "sequential", company="after")
    assert [(s.name, s.order) for s in after] == [("Ana", 1), ("Sócia", 2)]
    with pytest.raises(ValueError, match="company"):
        arrange([ANA], "sequential", company="sometimes")


def test_optional_roles_do_not_stop_the_document() -> None:
    arranged = arrange([ANA, W1], "sequential", optional_roles=["witness"])
    assert [s.required for s in arranged] == [True, False]


def test_round_trip_through_json() -> None:
    for spec in arrange([ANA, W1, COPY], "sequential"):
        assert SignerSpec.from_dict(spec.to_dict()) == spec
