namespace OrganicScreen.Stages;

/// <summary>Which model ships: the k-fold ensemble (every profile but the study's), or the study's best fold.</summary>
public enum FinalModelPolicy
{
    Ensemble,
    BestFold,
}

