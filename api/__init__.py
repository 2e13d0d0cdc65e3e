"""The scf-chain HTTP gateway: one FastAPI service for every role of the consortium."""
