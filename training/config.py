"""The one configuration object of the training package, ``TrainingConfig``: the benchmark simulator (``SimConfig``,
training/simulate.py), the Dr.GRPO teacher (``GRPOConfig``, training/grpo.py) and the distilled student
(``DistillConfig``, training/distill.py), with the policy settings they share (``PolicyConfig``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from models.config import PROMPT_SIGNALS


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes a simulated benchmark; the same config and seed give byte-identical files."""

    seed: int = 0  # the one seed: numpy default_rng, KMeans random_state, tweet sample, user draws
    n_users: int = 2000  # simulated users (ids u00000, u00001, ...)
    events_per_user: float = 50.0  # mean log events per user (cold users half): 2000 users -> about 100k events
    n_topics: int = 150  # KMeans clusters of the articles; fine-grained, or every method looks the same
    # what the topics (the users' interests, hence the ground truth) are clusters of: "embedding" = the
    # all-MiniLM-L6-v2 article vectors, the space the history centroid and the query channel search (favours the
    # centroid by construction); "lexical" = TF-IDF of title and body reduced by SVD (a truth the retriever does not
    # define)
    topics: str = "embedding"
    lexical_dims: int = 100  # SVD dimensions of the lexical topic space
    lexical_tweet_min_cosine: float = 0.5  # tweet_min_cosine there: about the same two thirds of tweets attach
    min_topic_articles: int = 8  # a topic needs this many articles to be someone's interest
    interests_min: int = 1  # latent interests per user: uniform between min and max (inclusive)
    interests_max: int = 3
    interest_alpha: float = 1.0  # Dirichlet concentration of the interest weights (1 = uniform on the simplex)
    domain_alpha: tuple[float, float, float, float] = (3.0, 2.0, 1.5, 1.5)  # Dirichlet of click/search/social/browse
    cold_share: float = 0.15  # users with a short, recent history and only 0-2 clicks (searches, social, browsing)
    drift_share: float = 0.2  # users (not cold) of whom one interest is replaced by a new topic mid-timeline
    noise_rate: float = 0.05  # share of events that are labelled noise: accidental clicks, navigational, spam
    test_share: float = 0.2  # users in the "test" split (noise classifier, evaluation); the rest are "train"
    cutoff_quantile: float = 0.8  # cutoff = this quantile of article publication times; log before, targets after
    max_targets: int = 10  # held-out future clicks per user: at least 1, at most this many
    mean_targets: float = 3.0  # Poisson mean of the number of future clicks beyond the first
    max_tweets: int = 20_000  # tweets embedded (a seeded sample) to keep the run short
    tweet_min_cosine: float = 0.3  # a tweet joins its nearest topic only at or above this cosine
    recency_days: float = 3.0  # articles are picked with weight exp(-age / recency_days): news is read fresh


ALL_REWARDS = ("format", "count", "alignment", "coverage", "specificity", "diversity", "relevance", "engagement")


def _default_model() -> str:
    from models.config import GeneratorConfig

    return str(GeneratorConfig().model_dir)  # where `interests model convert` writes the student


@dataclass(frozen=True)
class PolicyConfig:
    """What is trained and how it is sampled; shared by the teacher (Dr.GRPO) and the student (distillation)."""

    model: str = field(default_factory=_default_model)  # a Hugging Face causal LM folder (the converted SmolLM2)
    layers: tuple[int, ...] | None = None  # depth pruning: the base layers kept (None = all)
    dtype: str = "bfloat16"  # bfloat16 runs on the CPU's AMX units; float32 elsewhere
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_top_layers: int = 10  # LoRA on the top N layers only (backpropagation stops there); 0 = every layer
    num_queries: int = 5
    max_prompt_signals: int = PROMPT_SIGNALS  # the serving prompt's (models/config.py): no train/serve skew
    max_new_tokens: int = 40
    temperature: float = 0.8  # sampling temperature of rollouts; log-probabilities use the same temperature
    top_p: float = 0.9  # nucleus sampling of rollouts (a 135M model's full-vocabulary tail is mostly junk)
    torch_threads: int = 0  # 0 = torch's default; 1 is much faster on a machine whose cores are busy
    device: str = "auto"  # "auto" (cuda when a GPU is visible, else cpu), "cpu", "cuda", "cuda:1", ...


@dataclass(frozen=True)
class GRPOConfig:
    """Dr.GRPO on the composite reward (training/grpo.py)."""

    policy: PolicyConfig = field(default_factory=PolicyConfig)
    seed: int = 0
    steps: int = 20
    users_per_step: int = 4  # prompts per step
    group_size: int = 4  # G sampled lists per prompt
    lr: float = 3e-4
    clip_eps: float = 0.2
    beta: float = 0.0  # KL to the reference (the base model, adapter disabled); Dr.GRPO's default is none
    positive_only: bool = False  # advantages below 0 set to 0: only lists better than their group's mean are
    # reinforced (filtered policy gradient); pushing a small, trained model's sampled tokens down spreads their mass
    # over the vocabulary's tail (garbled words)
    micro_batch: int = 16  # rows per forward/backward pass
    grad_clip: float = 1.0
    checkpoint_every: int = 4
    time_budget_s: float = 0.0  # > 0: stop after the step that passes this many seconds (checkpoint and adapter kept)
    rewards: tuple[tuple[str, float], ...] = tuple((name, 1.0) for name in ALL_REWARDS)  # (name, weight)

    @property
    def weights(self) -> dict[str, float]:
        return dict(self.rewards)


@dataclass(frozen=True)
class DistillConfig:
    """Distilling the teacher into a depth-pruned student (training/distill.py)."""

    student: PolicyConfig = field(default_factory=lambda: PolicyConfig(layers=None, lora_top_layers=0))
    keep_layers: int = 24  # depth of the student when ``student.layers`` is None
    layer_choice: str = "importance"  # which layers: "importance" (the most influential on training prompts,
    # models.pruning.block_influence) or "even" (models.pruning.default_layers: the middle is cut)
    student_from: str = "teacher"  # the student's weights before pruning: "teacher" (adapter merged) or "base"
    contract: str = "compact"  # the student's prompt contract (models/prompt.py CONTRACTS); "compact" drops the system
    # message and the worked example: the teacher still reads its chat prompt (context distillation)
    teacher_signals: int = 0  # signals in the teacher's prompt; 0 = its manifest's max_prompt_signals
    mode: str = "on-policy"  # "on-policy" (reverse KL on student rollouts) or "sft" (teacher samples)
    seed: int = 0
    steps: int = 8
    users_per_step: int = 4
    samples_per_user: int = 2
    lr: float = 5e-4
    reward_coef: float = 0.0  # > 0 adds the Dr.GRPO reward advantage term to the on-policy loss
    teacher_temperature: float | None = None  # sft: the teacher's sampling temperature (None = the student's);
    # 0 = its greedy completion, one per prompt, generated once and reused every epoch (sequence-level distillation)
    micro_batch: int = 16
    grad_clip: float = 1.0
    checkpoint_every: int = 4
    time_budget_s: float = 0.0  # > 0: stop after the step that passes this many seconds (checkpoint and adapter kept)
    rewards: tuple[tuple[str, float], ...] = tuple((name, 1.0) for name in ALL_REWARDS)


@dataclass(frozen=True)
class TrainingConfig:
    """The one configuration object of the training package: the benchmark simulator and the three trainers."""

    sim: SimConfig = field(default_factory=SimConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
