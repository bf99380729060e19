"""The local runtime: moto in-process, the resources, the API under uvicorn, a local runner."""
