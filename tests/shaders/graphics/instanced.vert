#version 450
// A unit quad per vertex, placed and coloured per instance; gl_InstanceIndex darkens every
// fourth instance a step so the index itself is checked, not only the per-instance attributes.
layout(location = 0) in vec2 in_pos;
layout(location = 1) in vec4 in_place; // xy offset, z scale
layout(location = 2) in vec4 in_color;
layout(location = 0) out vec4 v_color;
void main() {
    gl_Position = vec4(in_pos * in_place.z + in_place.xy, 0.5, 1.0);
    float step = float(gl_InstanceIndex % 4) * 0.125;
    v_color = vec4(in_color.rgb * (1.0 - step), 1.0);
}
