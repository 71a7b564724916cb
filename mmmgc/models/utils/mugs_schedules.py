"""Schedules of Mugs that are not mmengine parameter schedulers."""


def mugs_teacher_temperature(step: int, warmup_steps: int,
                             warmup_temp: float = 0.04,
                             temp: float = 0.07) -> float:
    """Teacher temperature of the group head at ``step`` (epoch or iter).

    Linear from ``warmup_temp`` at step 0 to ``temp`` at step
    ``warmup_steps - 1`` (``numpy.linspace(warmup_temp, temp,
    warmup_steps)``, as DINO/Mugs), then constant ``temp``. With
    ``warmup_steps <= 0`` it is ``temp`` throughout.

    Args:
        step (int): Current epoch (or iteration).
        warmup_steps (int): Length of the warm-up.
        warmup_temp (float): Start value. Defaults to 0.04.
        temp (float): Final value. Defaults to 0.07.

    Returns:
        float: The temperature.
    """
    if warmup_temp <= 0 or temp <= 0:
        raise ValueError('teacher temperatures must be > 0, got '
                         f'{warmup_temp}, {temp}')
    if warmup_steps <= 0 or step >= warmup_steps:
        return float(temp)
    if warmup_steps == 1:
        return float(warmup_temp)
    step = max(step, 0)
    return float(warmup_temp + (temp - warmup_temp) * step /
                 (warmup_steps - 1))
