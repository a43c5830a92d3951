"""The GRBL 1.1 session: client and handshake, response parsing, character-counting streaming,
proofs of execution, and the job's line table."""
