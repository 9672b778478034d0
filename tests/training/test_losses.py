"""The training objectives pinned on hand-computed cases."""

import math

import pytest
import torch

from training.losses import dr_grpo_loss, group_advantages, reverse_kl, sft_loss


def test_advantages_are_centred_not_scaled():
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.5, 2.0, 2.0, 2.0, 6.0])
    adv = group_advantages(rewards, 4)
    # group 1 mean 0.5; group 2 mean 3.0
    assert adv.tolist() == pytest.approx([0.5, -0.5, 0.0, 0.0, -1.0, -1.0, -1.0, 3.0])


def test_scaled_advantages_divide_by_group_std():
    rewards = torch.tensor([0.0, 2.0])
    adv = group_advantages(rewards, 2, scale=True, eps=0.0)
    std = math.sqrt(2.0)  # unbiased std of (0, 2)
    assert adv.tolist() == pytest.approx([-1 / std, 1 / std])


def test_advantages_reject_ragged_groups():
    with pytest.raises(ValueError):
        group_advantages(torch.ones(5), 2)


def test_dr_grpo_loss_on_policy_is_minus_advantage_weighted_token_count_over_constant():
    logp = torch.log(torch.tensor([[0.5, 0.25, 0.1], [0.2, 0.2, 0.2]]))
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]])
    adv = torch.tensor([2.0, -1.0])
    loss, stats = dr_grpo_loss(logp, logp.detach(), adv, mask, normalizer=10.0)
    # ratio 1 everywhere: -(2 * 2 tokens + (-1) * 3 tokens) / 10
    assert float(loss) == pytest.approx(-(4.0 - 3.0) / 10.0)
    assert stats["clip_fraction"] == 0.0


def test_dr_grpo_loss_does_not_normalise_per_sequence_length():
    logp = torch.zeros(2, 4)
    adv = torch.tensor([1.0, 1.0])
    short = torch.tensor([[1, 0, 0, 0], [0, 0, 0, 0]])
    long = torch.tensor([[1, 1, 1, 1], [0, 0, 0, 0]])
    l_short, _ = dr_grpo_loss(logp, logp, adv, short, normalizer=8.0)
    l_long, _ = dr_grpo_loss(logp, logp, adv, long, normalizer=8.0)
    assert float(l_long) == pytest.approx(4 * float(l_short))  # a per-sequence mean would make them equal


def test_dr_grpo_loss_clips_the_ratio():
    old = torch.log(torch.tensor([[0.5]]))
    new = torch.log(torch.tensor([[1.0]]))  # ratio 2
    mask = torch.ones(1, 1)
    up, stats = dr_grpo_loss(new, old, torch.tensor([1.0]), mask, normalizer=1.0, clip_eps=0.2)
    assert float(up) == pytest.approx(-1.2)  # min(2 * 1, 1.2 * 1)
    assert stats["clip_fraction"] == 1.0
    down, _ = dr_grpo_loss(new, old, torch.tensor([-1.0]), mask, normalizer=1.0, clip_eps=0.2)
    assert float(down) == pytest.approx(2.0)  # min(-2, -1.2) = -2: the pessimistic side is not clipped


def test_dr_grpo_loss_gradient_and_kl_penalty():
    logp = torch.log(torch.tensor([[0.5]])).requires_grad_()
    ref = torch.log(torch.tensor([[0.25]]))
    loss, stats = dr_grpo_loss(logp, logp.detach(), torch.tensor([0.0]), torch.ones(1, 1), normalizer=1.0,
                               ref_logp=ref, beta=0.1)
    delta = math.log(0.25) - math.log(0.5)
    kl = math.exp(delta) - delta - 1
    assert stats["kl"] == pytest.approx(kl)
    assert float(loss) == pytest.approx(0.1 * kl)
    loss.backward()
    # d/dl [beta (exp(r - l) - (r - l) - 1)] = beta (1 - exp(r - l))
    assert float(logp.grad) == pytest.approx(0.1 * (1 - math.exp(delta)))


def test_reverse_kl_matches_hand_computation_and_masks():
    s = torch.log(torch.tensor([[[0.5, 0.5], [0.9, 0.1]]]))
    t = torch.log(torch.tensor([[[0.25, 0.75], [0.9, 0.1]]]))
    kl = reverse_kl(s, t, torch.tensor([[1, 1]]))
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert kl[0, 0].item() == pytest.approx(expected, abs=1e-6)
    assert kl[0, 1].item() == pytest.approx(0.0, abs=1e-6)
    masked = reverse_kl(s, t, torch.tensor([[0, 1]]))
    assert masked[0, 0].item() == 0.0


def test_sft_loss_is_masked_mean_cross_entropy():
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]]]))
    targets = torch.tensor([[0, 1, 1]])
    loss = sft_loss(logits, targets, torch.tensor([[1, 1, 0]]))
    assert float(loss) == pytest.approx(-(math.log(0.5) + math.log(0.8)) / 2, abs=1e-6)
