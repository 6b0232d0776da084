"""Compile specs/ into src/inferlink/_generated/ (python -m codegen)."""
