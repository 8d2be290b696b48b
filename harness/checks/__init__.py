"""The checks a sample goes through: syntax, types, tests. Each returns facts for
`Verdict.checks` and the reason codes it found."""
