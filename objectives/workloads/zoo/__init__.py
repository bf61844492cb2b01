"""The built-in model zoo and named mixes; importing registers them."""
