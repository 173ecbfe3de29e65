"""Transmissions of validated versions: MSSanté mail and DMP deposit (issue 14)."""
