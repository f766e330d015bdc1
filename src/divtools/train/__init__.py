"""Training: SFT, preference objectives and reward models on TRL (``run: train``)."""
