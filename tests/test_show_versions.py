from sklearn_hiss import show_versions


def test_show_versions_lists_the_stack(capsys):
    show_versions()
    out = capsys.readouterr().out
    for name in ("python", "torch", "skorch", "scikit-learn", "minisom"):
        assert f"{name}:" in out
    assert "sklearn-hiss: 0." in out
