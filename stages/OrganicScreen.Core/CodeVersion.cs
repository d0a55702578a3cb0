namespace OrganicScreen.Core;

/// <summary>
/// The code part of a stage key: a hand-bumped revision plus the module version id of the
/// assembly that implements the stage. Builds are deterministic, so the MVID changes exactly when
/// that assembly's code changes: editing a stage reruns it without anyone remembering to bump.
/// </summary>
public static class CodeVersion
{
    public static string Of(Type stage, int revision) => $"{stage.Name}/{revision}/{stage.Assembly.ManifestModule.ModuleVersionId:N}";

    /// <summary>Version of the .NET runtime the pipeline runs on, recorded as a tool version.</summary>
    public static string Runtime => Environment.Version.ToString();
}
