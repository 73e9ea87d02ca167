"""The directory ckptlint puts first on PYTHONPATH for a black-box trial; it holds only sitecustomize.py
(this file makes it ship as package data)."""
