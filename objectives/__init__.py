"""How a design is scored: workloads, cost model, scheduler and metrics (pure numpy)."""
