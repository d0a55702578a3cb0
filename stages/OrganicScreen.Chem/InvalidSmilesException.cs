namespace OrganicScreen.Chem;

/// <summary>RDKit rejected a SMILES; <see cref="Exception.Message"/> is RDKit's own explanation.</summary>
public sealed class InvalidSmilesException : Exception
{
    public InvalidSmilesException() : this("invalid SMILES") { }

    public InvalidSmilesException(string message) : base(message) { }

    public InvalidSmilesException(string message, Exception innerException) : base(message, innerException) { }

    public InvalidSmilesException(string message, string smiles) : base(message) => Smiles = smiles;

    /// <summary>The rejected input, when known.</summary>
    public string? Smiles { get; }
}
