"""PI GCS 2.0 (C-884 class) session: the client that speaks GCS, the job table, the session."""
