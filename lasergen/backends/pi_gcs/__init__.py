"""PI GCS 2.0 (C-884 class): the command language of Physik Instrumente motion controllers."""
