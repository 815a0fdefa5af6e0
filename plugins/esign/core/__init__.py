"""The document core: one deal's document from prepared to sealed, in batches (``batch_documents``,
``batch_finalize``) or one at a time (``documents``), and the two pieces of plumbing the signing and verify code
share (``hexstrings``: the guarded pyHanko patch; ``eventloop``: pyHanko's sync calls outside a running loop).
"""
