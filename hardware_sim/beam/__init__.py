"""Emulators of the beam side: the attenuator's rotation mount, the gate, the rig they share."""
