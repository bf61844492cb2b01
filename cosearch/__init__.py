"""How designs are searched: optimizers, runs, Ray distribution, results, CLI and plots."""
