"""Option values shared by the curation modules and the CLI, importable without numpy, cv2 or torch."""

RESIZE_FILTERS = ("area", "cubic", "lanczos")
SHORT_POLICIES = ("skip", "keep")  # frames shorter than the target height
SCORER_CHOICES = ("auto", "icnet", "fallback")
DEDUP_MAX_DISTANCE = 6  # of the 64 bits of a difference hash
TARGET_HEIGHT = 720
SIZE_MULTIPLE = 8
