"""The benchmark suite behind ``losscore bench``: case definitions per family plus one timer."""
