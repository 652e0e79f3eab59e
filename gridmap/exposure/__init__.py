"""Public accountability: the exposure page (曝光台) and rewards for valid citizen reports (有奖举报)."""
