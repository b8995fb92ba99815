#version 450
// The demo picture: a coloured Mandelbrot set, one invocation per pixel, RGBA8 packed in a uint.
layout(local_size_x = 16, local_size_y = 16) in;
layout(push_constant) uniform View {
    uint width;
    uint height;
    float center_x;
    float center_y;
    float scale;      // complex-plane units per pixel
    uint max_iter;
} view;
layout(std430, set = 0, binding = 0) writeonly buffer Pixels { uint pixels[]; };

vec3 palette(float t) {
    // Cosine palette: smooth, cheap, and exercises sin/cos in the JIT.
    return 0.5 + 0.5 * cos(6.2831853 * (vec3(0.0, 0.1, 0.2) + t * vec3(1.0, 0.9, 0.8)));
}

void main() {
    uvec2 p = gl_GlobalInvocationID.xy;
    if (p.x >= view.width || p.y >= view.height) {
        return;
    }
    vec2 c = vec2(view.center_x, view.center_y)
           + (vec2(p) - 0.5 * vec2(view.width, view.height)) * view.scale;
    vec2 z = vec2(0.0);
    uint i = 0;
    for (; i < view.max_iter; i++) {
        z = vec2(z.x * z.x - z.y * z.y, 2.0 * z.x * z.y) + c;
        if (dot(z, z) > 256.0) {
            break;
        }
    }
    vec3 rgb = vec3(0.0);
    if (i < view.max_iter) {
        // Smooth iteration count.
        float nu = float(i) + 1.0 - log2(log2(dot(z, z)) * 0.5);
        rgb = palette(sqrt(nu / float(view.max_iter)));
    }
    uvec3 c8 = uvec3(clamp(rgb, 0.0, 1.0) * 255.0 + 0.5);
    pixels[p.y * view.width + p.x] = c8.r | (c8.g << 8) | (c8.b << 16) | (255u << 24);
}
