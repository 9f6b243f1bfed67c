import sys
from pathlib import Path

# The generated module (mastery_ffi.py) and the built library sit in MASTERY_FFI_GENERATED.
import os

sys.path.insert(0, os.environ.get("MASTERY_FFI_GENERATED", str(Path(__file__).parent / "../generated/python")))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "mastery-py" / "tests"))
