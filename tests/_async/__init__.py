"""Two-mode tests: written once here, generated into tests/_sync/ by `python -m codegen`."""
