"""Estimator settings shared by test files."""

# A small network trained a fixed 3 epochs, one network, threshold 0.5 and no
# pseudo-labels: tests about labels, settings and files switch on only what
# they are about.
TINY = dict(
    shared_units=(8,),
    local_units=(8,),
    task_units=(8,),
    max_epochs=3,
    learning_rate=0.01,
    pseudo_labels=None,
    early_stopping=False,
    decision_threshold=0.5,
    n_networks=1,
    random_state=0,
)
