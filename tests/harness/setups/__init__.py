"""Factories the harness tests verify: small, realistic training setups (real TensorFlow)."""
