"""The use cases: one function per DAG step (``send``, ``collect``, ``approval``), each taking a worker's
``Services`` (``services.py``) and returning JSON-able counts. Import them from their modules; this file stays
empty so importing one step does not pull in the others.
"""
