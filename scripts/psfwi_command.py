"""Where the psfwi command is, for the plotting scripts that call it."""
import os
import shutil


def find_psfwi(given):
    """The psfwi command: `given`, $PSFWI, psfwi on PATH, or build/psfwi of this tree."""
    for cand in [given, os.environ.get("PSFWI"), shutil.which("psfwi"),
                 os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "psfwi")]:
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None
