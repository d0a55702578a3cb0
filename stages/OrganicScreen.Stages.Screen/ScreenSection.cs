using System.Text.Json.Serialization;
using OrganicScreen.Screening;

namespace OrganicScreen.Stages;

/// <summary>Screening settings from the profile's <c>screen</c> section (all optional).</summary>
/// <param name="LithiumAbsoluteVolts">Li/Li+ on the absolute scale: E(vs Li/Li+) = E(absolute) − this (the study's 1.40 V).</param>
public sealed record ScreenSection(string Solvent = "acetonitrile", string? Collector = "aluminium", MarginPolicy Margin = MarginPolicy.IntervalHalfWidth,
    double CathodeMinimumVolts = 3.0, double? AnodeMinimumVolts = null, double LithiumAbsoluteVolts = 1.40)
{
    [JsonIgnore]
    public ReferenceScale Reference => ReferenceScale.WithLithiumAbsolute(LithiumAbsoluteVolts);
}

