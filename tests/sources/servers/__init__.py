"""Local aiohttp servers speaking each platform's wire protocol, with scriptable failures."""
