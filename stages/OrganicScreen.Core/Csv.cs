using System.Text;

namespace OrganicScreen.Core;

/// <summary>Minimal RFC 4180 field splitting (quoted fields, doubled quotes) for one line.</summary>
public static class Csv
{
    public static List<string> Split(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }

        fields.Add(field.ToString());
        return fields;
    }

    /// <summary>
    /// RFC 4180: quotes a field that holds a comma, quote, CR or LF, or leading/trailing white space
    /// (which spreadsheet readers would otherwise trim); doubles inner quotes. Null is an empty field.
    /// </summary>
    public static string Escape(string? value)
    {
        if (value is null) return "";
        var needsQuotes = value.AsSpan().IndexOfAny(",\"\r\n") >= 0
                          || (value.Length > 0 && (char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1])));
        return needsQuotes ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}
