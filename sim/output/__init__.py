"""Output: results folders (written whole or not at all), manifests and figures."""
