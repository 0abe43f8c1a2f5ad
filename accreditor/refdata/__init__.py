"""Reference lists: accreditation programmes and editions, MS standards, IAF codes, food-chain
categories, MD 9 areas, testing fields, calibration disciplines, inspection fields."""
