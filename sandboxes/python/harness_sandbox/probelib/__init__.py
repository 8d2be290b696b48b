"""Test-strength probes that run inside the sandbox (stdlib, pytest and hypothesis only).

- `mutants.generate_mutants`: AST mutants of a solution, with diffs.
- `stubs.make_stubs`: degenerate stand-ins for the entry point.
- `equivalence.draw_distinguishing_input`: an input telling a mutant from the solution.
- `runner.run_probes`: all of it against the collected tests, one fork per variant.
"""
