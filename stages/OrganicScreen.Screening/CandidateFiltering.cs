using System.Globalization;

namespace OrganicScreen.Screening;

/// <summary>How many candidates one condition removed, per role. A candidate failing two conditions counts under both.</summary>
/// <param name="Filter">The condition's profile key (<c>requireRedoxStable</c>, <c>allowedElements</c>, <c>maxHeavyAtoms</c>).</param>
/// <param name="Setting">Its value in words ("true", "C, H, N, O", "10").</param>
public sealed record FilterCount(string Filter, string Setting, int Cathodes, int Anodes);

/// <summary>A candidate the filters removed and every condition it failed.</summary>
public sealed record RemovedCandidate(Candidate Candidate, string Reason);

/// <summary>What <see cref="CandidateFiltering.Apply"/> kept and removed, in input order, and the count per condition.</summary>
public sealed record FilterOutcome(IReadOnlyList<Candidate> Kept, IReadOnlyList<RemovedCandidate> Removed, IReadOnlyList<FilterCount> Counts);

/// <summary>
/// Applies <see cref="CandidateFilters"/> to candidates that carry <see cref="Candidate.Traits"/>. A candidate without
/// traits has unknown redox stability, elements and size, so every active condition fails it (nothing passes unchecked).
/// Counts are per condition, so a reader sees which setting removed what.
/// </summary>
public static class CandidateFiltering
{
    public static FilterOutcome Apply(IEnumerable<Candidate> candidates, CandidateFilters filters)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(filters);
        // One single-condition filter per active setting: the per-condition counts come from the same rule code.
        var conditions = new List<(string Name, string Setting, CandidateFilters Filter)>();
        if (filters.RequireRedoxStable == true) conditions.Add(("requireRedoxStable", "true", new CandidateFilters(RequireRedoxStable: true)));
        if (filters.AllowedElements is { } allowed) conditions.Add(("allowedElements", string.Join(", ", allowed), new CandidateFilters(AllowedElements: allowed)));
        if (filters.MaxHeavyAtoms is { } max) conditions.Add(("maxHeavyAtoms", max.ToString(CultureInfo.InvariantCulture), new CandidateFilters(MaxHeavyAtoms: max)));

        var kept = new List<Candidate>();
        var removed = new List<RemovedCandidate>();
        var counts = new int[conditions.Count, 2];
        foreach (var c in candidates)
        {
            var m = c.Traits?.Molecule;
            var reason = filters.RejectionReason(m?.RedoxStable, m?.Elements, m?.HeavyAtoms);
            if (reason is null)
            {
                kept.Add(c);
                continue;
            }

            removed.Add(new RemovedCandidate(c, reason));
            for (var i = 0; i < conditions.Count; i++)
                if (!conditions[i].Filter.Accepts(m?.RedoxStable, m?.Elements, m?.HeavyAtoms))
                    counts[i, c.Role == ElectrodeRole.Cathode ? 0 : 1]++;
        }

        return new FilterOutcome(kept, removed, conditions.Select((x, i) => new FilterCount(x.Name, x.Setting, counts[i, 0], counts[i, 1])).ToList());
    }
}
