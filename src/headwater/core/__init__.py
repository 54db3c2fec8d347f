"""The engine: flows, tasks, states, contexts and the drivers that run them."""
