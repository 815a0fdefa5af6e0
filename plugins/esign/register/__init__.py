"""The staff document register: search, open and act on documents, each action checked against permissions."""
