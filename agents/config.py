"""The run config: one YAML file, validated with pydantic, with errors that name the field.

Example:
    >>> from lapt.agents.config import load_config
    >>> cfg = load_config("nb201")          # a named preset from lapt/runs/
    >>> cfg.space, cfg.source.task, cfg.targets
    ('nb201', 'ImageNet16-120', ['cifar10', 'cifar100'])
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lapt.spaces import get_space, space_names
from lapt.tools.supernet_settings import SupernetSettings

from .providers import AnswerSize, LlamaCppConfig, ProviderConfig, parse_provider_config

AGENTS = ("analyst", "translator", "adapter")


class ConfigError(ValueError):
    """A run config that cannot be used; the message names the field and the valid choices."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceConfig(_Strict):
    """The solved source task whose top-k architectures the Analyst reads."""

    task: str
    top_k: int = Field(50, gt=0, le=1000, description="archive size k (at most 1,000: the "
                                                       "archive is written into a prompt)")
    sample: int = Field(0, ge=0, description="DARTS: random cells evaluated to form the archive")
    search: int = Field(0, ge=0, description=(
        "without transfer (ablation): the archive is the top-k of an REA search of this "
        "many counted evaluations on the task itself; 0 = the solved source task"))


class SearchConfig(_Strict):
    """The NAS method run on each refined subspace (REA by default; the paper's knobs)."""

    method: Literal["rea", "random", "local"] = "rea"
    budget: int = Field(30, gt=0, description="unique evaluations per target task, all iterations")
    iterations: int = Field(3, gt=0, description="G: Translator -> search -> Adapter rounds")
    initial: int | None = Field(None, gt=0, description=(
        "evaluations before the first adaptation (the paper: population + 5 steps on NB201, "
        "+ 10 on Trans101); None = an equal share of the budget"))
    adapt_every: int | None = Field(None, gt=0, description=(
        "evaluations between two adaptations (the paper: 5 on NB201, 10 on Trans101); "
        "None = an equal share of the budget"))
    population: int = Field(5, gt=0)
    tournament: int = Field(2, gt=0)
    mutations: int = Field(1, gt=0, description="layers changed per mutation")
    crossover: float = Field(0.0, ge=0, le=1, description="crossover probability (DARTS: 0.5)")
    mutation_prob: float = Field(1.0, ge=0, le=1, description="mutation probability (DARTS: 0.5)")
    generations: int | None = Field(None, gt=0, description="DARTS: REA generations per iteration")
    top_r: int = Field(5, gt=0, description="r: top found architectures the Adapter reads")

    @model_validator(mode="after")
    def _fits(self) -> SearchConfig:
        if self.tournament > self.population:
            raise ValueError(f"tournament ({self.tournament}) must not exceed population "
                             f"({self.population})")
        if self.budget < self.iterations:
            raise ValueError(f"budget ({self.budget}) must give each of the {self.iterations} "
                             "iterations at least one evaluation")
        if self.generations is None:
            need = sum(self.blocks()[:-1]) + 1
            if need > self.budget:
                raise ValueError(
                    f"budget ({self.budget}) is spent before the last of the {self.iterations} "
                    f"iterations: initial ({self.initial}) + {self.iterations - 2} x adapt_every "
                    f"({self.adapt_every}) needs a budget of at least {need}")
        return self

    def blocks(self) -> list[int]:
        """Evaluations per iteration of one continuing search: the initial block, one block
        per adaptation interval, and the rest of the budget in the last iteration."""
        G, B = self.iterations, self.budget
        equal = [B // G + (g < B % G) for g in range(G)]
        if G == 1:
            return [B]
        first = self.initial if self.initial is not None else equal[0]
        every = self.adapt_every if self.adapt_every is not None else equal[1]
        head = [first] + [every] * (G - 2)
        return head + [B - sum(head)]

    def left_for_whole_space(self, stop_reason: str, n_evals: int) -> int:
        """Evaluations the whole space gets after the last subspace's search stopped with
        ``stop_reason`` at ``n_evals``: the rest of the budget when that subspace is spent
        (every cell evaluated), so every method gets the same budget; else none."""
        spent = stop_reason in ("exhausted", "repeats") and self.generations is None
        return max(0, self.budget - n_evals) if spent else 0


class _AgentConfig(_Strict):
    answer_size: AnswerSize | None = Field(None, description=(
        "bounds of this agent's answers; None = its provider's (tight for llama_cpp)"))


class AnalystConfig(_AgentConfig):
    evidence: bool = Field(True, description="show principle_stats numbers in the prompt")
    max_repairs: int = Field(2, ge=0)
    first_subspace: bool = Field(True, description=(
        "the Analyst's own per-layer operators are the first subspace, as in the paper; "
        "false: the Translator makes it from the principles, with that list as a hint"))


class TranslatorConfig(_AgentConfig):
    max_repairs: int = Field(2, ge=0, description="repair rounds before keeping the fallback")
    max_ops_per_layer: int | None = Field(None, gt=0, description=(
        "at most this many operators per layer in a subspace (the paper: 2 on NB201, 3 on "
        "Trans101); None = no cap"))
    max_sources_per_layer: int | None = Field(None, gt=0, description=(
        "at most this many sources per layer (DARTS); None = no cap"))
    memory: bool = Field(True, description=(
        "the Translator reads the task's conversation so far (the analysis, earlier rounds)"))
    keep_known_best: bool = Field(False, description=(
        "a subspace (the Analyst's or the Translator's) must hold at least one of the best "
        "architectures known: the first one one of the source task's best "
        "`known_best_top`, a later one the best found so far on the target (on in the NB201 "
        "and Trans101 presets, whose archives are the true top-k)"))
    known_best_top: int = Field(3, ge=1, le=1000, description=(
        "with keep_known_best: the first subspace must hold one of the source task's best "
        "this many architectures (a subspace that misses all of them ignores the evidence)"))


class AdapterConfig(_AgentConfig):
    enabled: bool = Field(True, description="False: principles are never updated (ablation)")
    max_repairs: int = Field(2, ge=0)
    memory: bool = Field(True, description=(
        "the Adapter continues the task's conversation that holds the original analysis"))


class SessionConfig(_Strict):
    """Everything a LAPT run needs. Unknown keys are errors."""

    name: str = Field("lapt", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", description=(
        "the run's name, part of its folder name: letters, digits, '.', '_', '-'"))
    space: str
    source: SourceConfig
    targets: list[str] = Field(min_length=1)
    search: SearchConfig = SearchConfig()
    seed: int = 0
    analyst: AnalystConfig = AnalystConfig()
    translator: TranslatorConfig = TranslatorConfig()
    adapter: AdapterConfig = AdapterConfig()
    supernet: SupernetSettings = SupernetSettings()
    providers: dict[str, ProviderConfig] = Field(
        default_factory=lambda: {"default": cast(ProviderConfig, LlamaCppConfig())},
        description="'default' and optional per-agent overrides: analyst, translator, adapter")
    out_dir: str = "runs/out"

    @field_validator("out_dir")
    @classmethod
    def _out_dir(cls, v: str) -> str:
        if Path(v).exists() and not Path(v).is_dir():
            raise ValueError(f"out_dir {v!r} is a file; give a folder (run folders go in it)")
        return v

    @field_validator("space")
    @classmethod
    def _space(cls, v: str) -> str:
        if v not in space_names():
            raise ValueError(f"unknown space {v!r}; valid: {', '.join(space_names())}")
        return v

    @field_validator("providers", mode="before")
    @classmethod
    def _providers(cls, v: Any) -> Any:
        return parse_providers(v)

    @model_validator(mode="after")
    def _tasks(self) -> SessionConfig:
        from lapt.tools.tasks import task_names

        valid = task_names(self.space)
        for t in [self.source.task, *self.targets]:
            if t not in valid:
                raise ValueError(f"unknown task {t!r} for space {self.space}; valid: "
                                 f"{', '.join(valid)}")
        if "default" not in self.providers and not all(a in self.providers for a in AGENTS):
            raise ValueError("providers needs a 'default' entry or one entry per agent "
                             f"({', '.join(AGENTS)})")
        get_space(self.space)
        return self

    def provider(self, agent: str) -> ProviderConfig:
        """The provider config of ``agent`` (its override, else the default)."""
        return self.providers.get(agent) or self.providers["default"]

    def missing_keys(self) -> list[str]:
        """One line per key variable that a provider needs and that is not set, naming the
        agents that need it (checked before a run folder is made)."""
        import os

        from .providers import is_loopback_url

        missing: dict[str, list[str]] = {}
        for agent in AGENTS:
            p = self.provider(agent)
            env = getattr(p, "api_key_env", None)
            local = is_loopback_url(getattr(p, "base_url", None))
            if env and not local and not os.environ.get(env):
                missing.setdefault(env, []).append(f"{agent} ({p.provider}, {p.model})")
        return [f"the environment variable {env} is not set (api_key_env of "
                f"{', '.join(agents)}); export it, or name another variable in api_key_env"
                for env, agents in missing.items()]

    def answer_size(self, agent: str) -> AnswerSize:
        """The answer bounds of ``agent``: its own setting, else its provider's."""
        own: AnswerSize | None = getattr(self, agent).answer_size
        return own or self.provider(agent).answer_limits()

    def to_yaml(self) -> str:
        """The resolved config as YAML (provider configs hold env-var names, never keys;
        each agent's answer bounds as they were in force)."""
        data = self.model_dump(mode="json", exclude={"providers"})
        for agent in AGENTS:
            data[agent]["answer_size"] = self.answer_size(agent).model_dump()
        data["providers"] = {
            k: {"provider": "function", "model": c.model} if c.provider == "function"
            else c.model_dump(mode="json") for k, c in self.providers.items()}
        return yaml.safe_dump(data, sort_keys=False)


def parse_providers(data: Any) -> dict[str, ProviderConfig]:
    """A ``providers:`` mapping ('default' and agent names to provider configs), validated.

    Raises:
        ValueError: naming the bad key or field and the valid choices.
    """
    if not isinstance(data, dict):
        raise ValueError("providers must map 'default' or an agent name to a provider config")
    bad = [k for k in data if k not in ("default", *AGENTS)]
    if bad:
        raise ValueError(f"unknown providers key(s) {bad}; valid: default, {', '.join(AGENTS)}")
    out = {}
    for k, c in data.items():
        try:
            out[k] = parse_provider_config(c)
        except ValidationError as err:
            why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'provider'}: {e['msg']}"
                            for e in err.errors())
            raise ValueError(f"providers.{k}: {why}") from None
    return out


def preset_names() -> list[str]:
    """Named configs shipped in ``lapt/runs`` (the paper's Table 1 settings per space)."""
    return sorted(p.name.removesuffix(".yaml") for p in resources.files("lapt.runs").iterdir()
                  if p.name.endswith(".yaml"))


def _space_defaults(name: str) -> dict[str, Any] | None:
    """The run a plugin space declares for ``lapt run NAME`` (None if it declares none)."""
    from lapt.spaces import SpaceError

    if name not in space_names() or name in preset_names():
        return None
    try:
        defaults = get_space(name).run_defaults()
    except SpaceError as err:
        raise ConfigError(str(err)) from None
    return None if defaults is None else {"name": name, **defaults, "space": name}


def load_config(source: str | Path | dict[str, Any]) -> SessionConfig:
    """Load a config from a dict, a YAML path, a preset name, or the name of a space that
    declares its run defaults (a plugin's ``run:``); raises :class:`ConfigError`."""
    if isinstance(source, dict):
        data, where = source, "config"
    else:
        path = Path(source)
        if path.is_file():
            where = str(path)
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as err:
                raise ConfigError(f"{where}: not UTF-8 text ({err.reason} at byte "
                                  f"{err.start}); save the config as UTF-8") from None
        elif str(source) in preset_names():
            text = resources.files("lapt.runs").joinpath(f"{source}.yaml").read_text()
            where = f"preset {source}"
        elif (defaults := _space_defaults(str(source))) is not None:
            return load_config(defaults)
        else:
            raise ConfigError(f"no config file or preset named {str(source)!r}; presets: "
                              f"{', '.join(preset_names())}")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"{where}: not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    try:
        return SessionConfig.model_validate(data)
    except ValidationError as err:
        lines = [f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in err.errors()]
        raise ConfigError(f"{where}: invalid config:\n  " + "\n  ".join(lines)) from None
