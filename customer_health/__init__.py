"""Customer-health warehouse: the Python side (demo data, orchestration, checks)."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONTRACT_PATH = PROJECT_DIR / "contract" / "raw_contract.yml"
SEEDS_DIR = PROJECT_DIR / "seeds"
