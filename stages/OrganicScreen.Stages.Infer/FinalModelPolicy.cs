namespace OrganicScreen.Stages;

/// <summary>Which model ships: the k-fold ensemble (every profile but the study's), or the study's best fold.</summary>
public enum FinalModelPolicy
{
    Ensemble,
    BestFold,
}


/// <summary>
/// Which 95 % interval ships: each molecule's own width from its similarity to the training molecules (the default),
/// or one fixed width per target (the ensemble-narrowed split-conformal quantile).
/// </summary>
public enum IntervalPolicy
{
    Adaptive,
    Fixed,
}
