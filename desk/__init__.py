"""What runs a desk without a screen: the CLI entry point, headless mode, the desk↔journal session,
alerts and their delivery, actions, and the composition root (``Desk``). Never imports textual or rich."""
