"""Cloud engines for the agent loop: Amazon Transcribe (STT), Amazon Bedrock and any
OpenAI-compatible endpoint (LLM), Amazon Polly (TTS). Each has its own settings model in
`settings.py`; `engines.build_engines` picks them per agent (AgentSpec.engines)."""
