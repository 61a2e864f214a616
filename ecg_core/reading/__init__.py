"""Reading a page with an Mllama, as evaluation's answers and interpret's readings both do:

reader.py     which weights answer (the base checkpoint, a run's adapter or the registry's champion) and at
              which page preprocessing: one rule, `choose_reader`
stored.py     that base + adapter loaded from the store when first asked, each chunk's pages fetched then
generate.py   greedy answers to the first human turn of instruction records
scores.py     each label's probability as the answer (the score-based AUC)
"""
