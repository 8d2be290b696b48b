"""`harness generate`: from seed problems to a verified dataset with any OpenAI-compatible
model. Stages, in order: problems (a), solutions (b), tests (c), parsing (d) inside both,
verify and select (e), repair (f), evolve (g); `driver.generate` runs them in rounds."""

from harness.generate.config import GenerateConfig, Sampling
from harness.generate.driver import generate

__all__ = ["GenerateConfig", "Sampling", "generate"]
