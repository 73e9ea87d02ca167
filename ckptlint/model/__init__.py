"""(module docstring to be written)"""
