"""The live collaboration benchmark's client and servers (entry point: ``bench_collab.py``)."""
