using System.Buffers.Binary;
using System.Text.Json;

namespace OrganicScreen.Training;

/// <summary>
/// The on-disk layout every fold model shares: <c>model.json</c> (shape, scalers) and
/// <c>weights.bin</c> (little-endian float32 in the order the model defines).
/// </summary>
internal static class ModelFiles
{
    public const string Metadata = "model.json";
    public const string Weights = "weights.bin";

    /// <summary>
    /// Weights first, metadata last, each written to a temporary file and renamed: a crashed save
    /// never leaves a half model that loads, because loading starts from the metadata.
    /// </summary>
    public static void Save<TMetadata>(string directory, IEnumerable<float> weights, TMetadata metadata)
    {
        Directory.CreateDirectory(directory);
        var weightsTemp = Path.Combine(directory, Weights + ".tmp");
        using (var stream = File.Create(weightsTemp))
        {
            var buffer = new byte[4];
            foreach (var value in weights)
            {
                BinaryPrimitives.WriteSingleLittleEndian(buffer, value);
                stream.Write(buffer);
            }
        }

        File.Move(weightsTemp, Path.Combine(directory, Weights), overwrite: true);
        var metadataTemp = Path.Combine(directory, Metadata + ".tmp");
        File.WriteAllText(metadataTemp, JsonSerializer.Serialize(metadata, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(metadataTemp, Path.Combine(directory, Metadata), overwrite: true);
    }
}
